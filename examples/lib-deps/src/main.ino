// Reads a JSON setting, sweeps a servo to it and blinks through a library
// of the wire-lib example: every library comes from lib_deps.
#include <ArduinoJson.h>
#include <Servo.h>
#include <Adafruit_I2CDevice.h>
#include <Blinker.h>

Servo servo;
Blinker led(LED_BUILTIN);
Adafruit_I2CDevice sensor(0x48);

void setup() {
  Serial.begin(9600);
  JsonDocument doc;
  deserializeJson(doc, "{\"angle\":90}");
  servo.attach(9);
  servo.write(doc["angle"].as<int>());
  Serial.println(sensor.begin() ? "sensor found" : "no sensor");
  led.begin();
}

void loop() {
  led.blink();
}
