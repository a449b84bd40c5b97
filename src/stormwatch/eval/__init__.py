"""Quality evaluation: metrics, the Markdown/PNG report and the labelled-file runner."""
