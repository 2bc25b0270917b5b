"""Songclip adapter: clip create events cut from a song, JSEND replies, upload-ready export presets."""
