"""One router per platform, each mounted under the platform's prefix."""
