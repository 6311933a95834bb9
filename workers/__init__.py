"""RQ jobs and the worker entry point (`hotline worker`)."""
