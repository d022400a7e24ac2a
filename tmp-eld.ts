import { eld } from "eld";
console.log(eld.detect("Tämä on suomenkielinen lause, joka kertoo kissasta.").language);
console.log(eld.detect("Det här är en svensk mening om en katt.").language);
console.log(eld.detect("Hello").language, eld.detect("").language);
