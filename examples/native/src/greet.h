void greet(const char *text);
