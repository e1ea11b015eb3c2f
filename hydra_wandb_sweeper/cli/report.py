def report() -> None:
    """todo"""
