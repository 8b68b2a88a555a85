import pytest


@pytest.fixture(autouse=True)
def _fresh_run_cache():
    """Run ids repeat across test databases: start every test with empty caches of stored runs and PDFs."""
    from survey.reports import pdf
    from survey.results import services

    services.clear_cache()
    pdf._cache.clear()
    yield
    services.clear_cache()
