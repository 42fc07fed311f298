"""The quality console: server-rendered pages for desk leads, the quality department and supplier managers."""
