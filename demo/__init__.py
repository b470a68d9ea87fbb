"""Demo data and benchmarks: everything that exists to show Pownce or to measure it, never to
serve it.

* ``manage.py seed_demo`` (``make run``, ``make stack``, ``make bench``) and its words and files
  (:mod:`demo.content`);
* the ``/bench/`` views and the cost headers (:mod:`demo.bench`), with the plain-ORM home page
  they compare against (:mod:`demo.baseline`), served only with ``POWNCE_BENCH_VIEWS=1``;
* ``manage.py bench_audience`` and ``bench_hot_key``, which ``deploy/bench.py`` runs.

Why an app of its own, at the top level. This code reads and writes the models of ``accounts``
and ``notes`` and renders their templates, so it depends on both apps; nothing in them may depend
on it. Inside ``notes/`` (where most of it lived) it was "in the app" and the app shipped its
own benchmark; inside ``pownce/`` it made the project's infrastructure (settings, router, health,
metrics) import an app — ``pownce/bench.py`` imported ``notes.views.baseline``, the one arrow
that pointed up. ``deploy/`` holds scripts that drive a stack from outside, not Django code.
So the arrows are::

    demo -> notes -> accounts -> pownce, cache

and only ``pownce/settings.py`` and ``pownce/urls.py`` name ``demo``, as strings, the way they
name every installed app. ``tests/test_layout.py`` keeps it so.
"""
