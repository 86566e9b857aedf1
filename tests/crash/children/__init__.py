"""Scripts the crash tests run as separate processes (``python <file> ...``), and the graphs
they share with the test process. Each script depends only on its arguments and the files it is
pointed at, never on the state of the process that started it.
"""
