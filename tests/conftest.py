"""Root of the test tree: puts ``tests/`` on ``sys.path`` so the service helpers
(``redis_service``) import from every suite."""
