"""One package per deployed function; ``functions.registry`` lists them all."""
