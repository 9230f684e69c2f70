"""manage.py commands of the EMPI: training the matcher, linking an initial load."""
