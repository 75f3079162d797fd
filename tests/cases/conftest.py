from tests.api.conftest import bearer  # noqa: F401  (API clients signed in with a real token)
