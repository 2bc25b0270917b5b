"""TwoShot adapter: project JSON, sample library, render requests and replies."""
