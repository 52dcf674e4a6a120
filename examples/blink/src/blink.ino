// Blink: the LED on pin 13 toggles twice a second.

void setup() {
  pinMode(LED_BUILTIN, OUTPUT);
}

void loop() {
  toggle();
  delay(500);
}

void toggle() {
  static bool on = false;
  on = !on;
  digitalWrite(LED_BUILTIN, on ? HIGH : LOW);
}
