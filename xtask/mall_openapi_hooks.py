"""Generation hooks for Schemathesis against the services' OpenAPI documents
(`cargo xtask test` / `fuzz`).

A query string can only say so much: form-style serialisation writes an object value as
other parameters (or as nothing, for `{}`), and a single value exactly as a one-item list.
A generated case that relies on either is not the request the checks then judge: a
"negative" case whose `page` became `{}` and whose id list `ids` became the integer 3 is sent
as `?ids=3`, a valid request, and its 200 would be reported as invalid input accepted. Such
cases are dropped before they are sent; every other case, negative ones included, runs.
"""

import schemathesis

# The query parameters the documents declare as lists (`ids` of every `findByIdIn`).
LISTS = {"ids"}


@schemathesis.hook
def filter_query(ctx, query):
    if not query:
        return True
    for name, value in query.items():
        if isinstance(value, dict):
            return False
        if name in LISTS and isinstance(value, (int, float)) and not isinstance(value, bool):
            return False
    return True
