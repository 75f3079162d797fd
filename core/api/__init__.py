"""API helpers: pagination, the error shape, visibility-aware viewsets."""
