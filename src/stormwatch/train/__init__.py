"""Training pipeline and our own template corpus for the learned detectors."""
