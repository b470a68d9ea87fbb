"""Notes' pages: streams (``streams``), a note and what people do with it (``notes``), and its
file and calendar downloads (``downloads``). Each view asks notes.selectors or notes.services."""
