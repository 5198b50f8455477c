// Lesson 01, does not compile (a missing semicolon): lab.py shows the compiler's error, runs nothing.
int main() { return 0 }
