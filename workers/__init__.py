"""RQ job bodies and the worker entry point (`hotline worker`).

Jobs are declared in hotline.jobs; each module here binds the bodies of some of them
(`@jobs.NAME.implementation`). The worker class (workers.main.HotlineWorker) ends each
job's database session, so a body does not.
"""
