"""From scores to tickets: warnings, dispatch, the ticket store and its API."""
