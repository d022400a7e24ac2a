import { detect } from "./src/eval/langid/langdetect.ts";
let t=performance.now();
console.log(detect("Tämä on suomenkielinen lause, joka kertoo kissasta."), performance.now()-t);
t=performance.now();
for (let i=0;i<100;i++) detect("Det här är en svensk mening om en katt. Och en hund som springer i parken varje dag.");
console.log(detect("Det här är en svensk mening om en katt."), (performance.now()-t)/100);
