"""The graded exercises, one module per chapter; ``registry.load_all()`` imports them all.

``common`` holds what several chapters share (case helpers, the book's worked
examples, forbidden-call lists); every other module registers its chapter's
exercises. Only content lives here: the machinery is in ``d2lcnn.grading``.
"""
