"""Qualitrail's Solidity contracts: sources, npm pins, compile/deploy helpers and chain clients."""
