#include <stdio.h>
#include "greet.h"

int main(void) {
  greet(GREETING);
  return 0;
}
