"""The read model: tables written by activities, read by the API's list and detail views."""
