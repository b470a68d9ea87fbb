"""Notes' pages: streams (``streams``), the note form (``posting``), a note and what people do
with it (``notes``), and its file and calendar downloads (``downloads``); where a form may send
people back (``back``). Each view asks notes.selectors or notes.services."""
