"""The reviewer's pages: the queue of my projects, one item with its candidates side by side."""
