"""The HTTP service and web page, thin over `SentimentClassifier`."""
