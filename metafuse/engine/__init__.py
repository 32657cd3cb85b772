"""The array engine: tau^2 estimators, inverse-variance, Mantel-Haenszel and mixed models."""
