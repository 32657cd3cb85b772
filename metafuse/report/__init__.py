"""Report writers: tables as Markdown, CSV, HTML and Word, and the HTML report."""
