"""Parley: signaling, recording and screenshot service for video calls."""

__version__ = "0.1.0"
