"""PynamoDB models and the few queries each use case needs."""
