"""The NGO console (``/ngo/…``): for now its charts (``charts``: server-drawn SVG with a data
table each, rendered by ``ngo/chart.html``); the pages come with the staff accounts."""
