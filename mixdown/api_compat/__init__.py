"""One adapter per platform: validates its JSON, translates it into engine calls, answers in its shapes."""
