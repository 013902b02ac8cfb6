"""``/me`` (my work: stats, hours, weekly goal, what became of my answers, impact notes),
``/me/certificate`` (a printable, signed certificate) and ``/certificates/{id}`` (public: is
this certificate genuine)."""
