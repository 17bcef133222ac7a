# handout_tool: makes the student tree from the instructor's (./handout). Start at cli.py.
