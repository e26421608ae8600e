"""The task model, its state machine and the customId grammar: no I/O lives here."""
