# Not a tutorial program: the one change the tutorial's interactive clients here share.
# Their input() reads the test's script on stdin, line by line, and the end of the script ends
# the program (exit status 0), where the tutorial's input() would raise EOFError. Each client
# imports it on one line marked "# CHANGED:".
import builtins
import sys


def input(prompt):
    try:
        return builtins.input(prompt)
    except EOFError:
        sys.exit(0)
