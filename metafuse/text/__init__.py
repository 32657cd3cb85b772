"""Text: printers of results. They format numbers; they compute no statistics."""
