"""The practice studio's catalogue, uploads and background jobs."""
