"""What crosses the store's edge: exports (:mod:`.exports`), strict reading of what is given
to an import (:mod:`.parsing`), imports (:mod:`.imports`) and whole-store bundles
(:mod:`.bundles`)."""
