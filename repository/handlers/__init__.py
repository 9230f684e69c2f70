"""Protocol handlers of the repository endpoint: ITI-41 (and RAD-68), ITI-43, ITI-86."""
