"""The OpenAPI document (``/openapi.json``, ``/docs``): its examples and its error responses.

- ``document``: ``openapi_with_examples``, the app's ``openapi()``: FastAPI's document with every
  route's examples added when it is first rendered (from the task types registered by then,
  plugins included);
- ``samples``: each task type's sample (``TaskType.example``) as the examples show it, and the
  bodies several routes share (a project, a task, an assignment, a result…);
- ``blocks``: how one route's examples are written (``operation``, ``one``, ``merged``);
- ``ngo_examples`` and ``volunteer_examples``: the examples of every route, by method and path
  (organisations and operators; volunteers and reviewers);
- ``error_responses``: the error responses a route declares (all in the one error shape).
"""
