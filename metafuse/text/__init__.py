"""Text: printers of results (they format numbers; they compute no statistics) and text widths."""
