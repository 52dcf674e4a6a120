// Says hello on the serial line: "hello from <board>", once a second.

#ifndef BOARD_NAME
#define BOARD_NAME "uno"
#endif

void setup() {
  Serial.begin(9600);
  greet();
}

void loop() {
  delay(1000);
  greet();
}

void greet() {
  Serial.print("hello from ");
  Serial.println(BOARD_NAME);
}
