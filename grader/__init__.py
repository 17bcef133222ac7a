# grader: the Raft labs' grader (./grade). Start at cli.py.
