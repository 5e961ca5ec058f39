"""Sources: the lines of business (LoBs) that send products, and how each is configured."""
