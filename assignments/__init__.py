"""The student notebooks, one per part, as nbgrader releases them."""
